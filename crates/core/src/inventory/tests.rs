//! The line rules and totals, with and without taxes.

use super::*;
use serde_json::json;

fn line(values: Value) -> RowDraft {
    let mut row = RowDraft::new(1, vec![]);
    row.values = values.as_object().unwrap().clone().into();
    row
}

#[test]
fn a_line_takes_the_product_price_and_computes_its_amounts() {
    let product = RecordId::new(7);
    let prices = Catalogue { unit_prices: HashMap::from([(product, Some(12.5))]), ..Catalogue::default() };
    let mut rows = vec![
        line(json!({"Product_Name": {"name": "Pump", "id": "7"}, "Quantity": 4.0, "Discount": 5.0, "Tax": 4.5})),
        line(json!({"Product_Name": {"name": "Pump", "id": "7"}, "Quantity": 2.0, "List_Price": 10.0})),
    ];
    price_lines(&mut rows, &prices, &HashMap::new());
    let first = &rows[0].values;
    assert_eq!(first["List_Price"], json!(12.5));
    assert_eq!(first["Unit_Price"], json!(12.5));
    assert_eq!(first["Total"], json!(50.0));
    assert_eq!(first["Total_After_Discount"], json!(45.0));
    assert_eq!(first["Net_Total"], json!(49.5));
    assert_eq!(rows[1].values["Net_Total"], json!(20.0));
    let stored: Vec<Map<String, Value>> = rows.iter().map(|r| r.values.clone().into_map()).collect();
    let lines: Vec<&Map<String, Value>> = stored.iter().collect();
    let record = json!({"Discount": 9.5, "Adjustment": 1.0});
    let totals = record_totals(record.as_object().unwrap(), &lines);
    assert_eq!(Value::Object(totals), json!({"Sub_Total": 69.5, "Tax": 0.0, "Grand_Total": 61.0}));
}

#[test]
fn line_taxes_give_the_line_tax_and_record_taxes_the_record_tax() {
    let taxes = vec![
        OrgTax { id: 11, name: "Sales Tax".into(), value: 10.0, sequence_number: 1 },
        OrgTax { id: 12, name: "Vat".into(), value: 5.0, sequence_number: 2 },
    ];
    let catalogue = Catalogue { taxes, ..Catalogue::default() };
    let mut rows = vec![
        line(json!({"Quantity": 2.0, "List_Price": 50.0, "Discount": 10.0, "Tax": 3.0,
            "Line_Tax": [{"name": "sales tax"}, {"name": "Vat", "percentage": 2.5}]})),
        line(json!({"Quantity": 1.0, "List_Price": 10.0, "Line_Tax": [{"name": "GST"}]})),
    ];
    price_lines(&mut rows, &catalogue, &HashMap::<String, String>::new());
    let first = &rows[0].values;
    assert_eq!((&first["Tax"], &first["Net_Total"]), (&json!(11.25), &json!(101.25)));
    assert_eq!(first["Line_Tax"][0], json!({"name": "Sales Tax", "percentage": 10.0, "id": "11", "value": 9.0}));
    assert_eq!(first["Line_Tax"][1]["value"], json!(2.25));
    assert_eq!(rows[1].errors[0].column, "Line_Tax");
    let record =
        json!({"Discount": 1.25, "Adjustment": 0.5, "$line_tax": [{"name": "Vat", "percentage": 5.0, "id": "12"}]});
    let first = first.clone().into_map();
    let lines = [&first];
    let totals = record_totals(record.as_object().unwrap(), &lines);
    assert_eq!(totals["Sub_Total"], json!(101.25));
    assert_eq!(totals["Tax"], json!(5.0));
    assert_eq!(totals["$line_tax"][0]["value"], json!(5.0));
    assert_eq!(totals["Grand_Total"], json!(105.5));
}

#[test]
fn a_price_book_range_gives_the_discount_of_a_line_without_one() {
    let book = RecordId::new(9);
    let catalogue = Catalogue {
        ranges: HashMap::from([(book, vec![(1.0, 10.0, 0.0), (11.0, 100.0, 5.0)])]),
        ..Catalogue::default()
    };
    let mut rows = vec![
        line(json!({"Price_Book_Name": {"name": "Volume", "id": "9"}, "Quantity": 20.0, "List_Price": 10.0})),
        line(
            json!({"Price_Book_Name": {"name": "Volume", "id": "9"}, "Quantity": 20.0, "List_Price": 10.0, "Discount": 1.0}),
        ),
        line(json!({"Price_Book_Name": {"name": "Volume", "id": "9"}, "Quantity": 200.0, "List_Price": 1.0})),
    ];
    price_lines(&mut rows, &catalogue, &HashMap::<String, String>::new());
    assert_eq!((&rows[0].values["Discount"], &rows[0].values["Net_Total"]), (&json!(10.0), &json!(190.0)));
    assert_eq!(rows[1].values["Discount"], json!(1.0));
    assert_eq!(rows[2].values["Discount"], json!(0.0));
}

#[test]
fn quantity_discount_and_negative_amounts_are_refused() {
    let columns = HashMap::from([("Quantity".to_string(), "Qty".to_string())]);
    let mut rows = vec![
        line(json!({"Quantity": 0.0, "List_Price": 3.0})),
        line(json!({"Quantity": 1.0, "List_Price": 3.0, "Discount": 4.0})),
        line(json!({"Quantity": 1.0, "List_Price": -3.0})),
    ];
    price_lines(&mut rows, &Catalogue::default(), &columns);
    assert_eq!(rows[0].errors[0].column, "Qty");
    assert_eq!(rows[1].errors[0].column, "Discount");
    assert_eq!(rows[2].errors[0].column, "List_Price");
    assert!(rows.iter().all(|r| r.errors.len() == 1 && !r.values.contains_key("Total")));
}

#[test]
fn an_update_of_a_line_is_priced_with_its_stored_inputs() {
    let mut row = line(json!({"Discount": 2.0}));
    let stored =
        json!({"Product_Name": {"name": "Pump", "id": "7"}, "Quantity": 3.0, "List_Price": 4.0, "Discount": 0.0});
    fill_from_stored(&mut row, stored.as_object().unwrap());
    let mut rows = vec![row];
    price_lines(&mut rows, &Catalogue::default(), &HashMap::<String, String>::new());
    assert_eq!((&rows[0].values["Total"], &rows[0].values["Net_Total"]), (&json!(12.0), &json!(10.0)));
}

#[test]
fn v2_names_the_keys_in_lower_case() {
    let v3 = json!({"Product_Name": {"name": "Pump", "id": "7"}, "Quantity": 2.0, "Net_Total": 20.0, "Parent_Id": {}});
    let v2 = v2_line(v3.as_object().unwrap());
    assert_eq!(Value::Object(v2), json!({"product": {"name": "Pump", "id": "7"}, "quantity": 2.0, "net_total": 20.0}));
}
