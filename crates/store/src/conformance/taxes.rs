//! Taxes: stored per org in their order, replaced by name, deleted with the later ones moving up.

use std::sync::Arc;

use super::*;

pub async fn taxes_are_stored_per_org_in_order_and_replaced_by_name(store: Arc<dyn Store>) {
    with_org(&store).await;
    assert!(store.org_taxes(ORG).await.unwrap().is_empty());
    let sales = store.put_tax(ORG, 9001, "Sales Tax", 12.5).await.unwrap();
    assert_eq!((sales.id, sales.name.as_str(), sales.value, sales.sequence_number), (9001, "Sales Tax", 12.5, 1));
    store.put_tax(ORG, 9002, "Vat", 5.0).await.unwrap();
    store.put_tax(ORG, 9003, "GST", 18.0).await.unwrap();
    let renamed = store.put_tax(ORG, 9004, "SALES TAX", 10.0).await.unwrap();
    assert_eq!(
        (renamed.id, renamed.name.as_str(), renamed.value, renamed.sequence_number),
        (9001, "SALES TAX", 10.0, 1)
    );
    let listed: Vec<(u64, u32)> =
        store.org_taxes(ORG).await.unwrap().iter().map(|t| (t.id, t.sequence_number)).collect();
    assert_eq!(listed, [(9001, 1), (9002, 2), (9003, 3)], "a replaced tax keeps its id and place");

    assert!(store.delete_tax(ORG, 9002).await.unwrap());
    assert!(!store.delete_tax(ORG, 9002).await.unwrap());
    assert!(!store.delete_tax(OTHER_ORG, 9001).await.unwrap(), "another org's tax is not found");
    let listed: Vec<(String, u32)> =
        store.org_taxes(ORG).await.unwrap().into_iter().map(|t| (t.name, t.sequence_number)).collect();
    assert_eq!(listed, [("SALES TAX".to_string(), 1), ("GST".to_string(), 2)], "the later ones move up");
    let next = store.put_tax(ORG, 9005, "Excise", 2.0).await.unwrap();
    assert_eq!(next.sequence_number, 3);
    assert!(store.org_taxes(OTHER_ORG).await.unwrap().is_empty());
    assert!(matches!(store.put_tax(OTHER_ORG, 9006, "Vat", 1.0).await, Err(StoreError::NotFound(_))));
}
