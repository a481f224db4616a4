//! What Bulk Read's endpoints need besides the store: the download limit, and the one custom
//! view (`All <Module>`) every module has, listed by `settings/custom_views` and named by `cvid`.

pub mod limit;

use bulkwrite_core::readspec::all_view_id;
use bulkwrite_core::schema::Module;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_wire::read::CustomView;

/// The module's "All" view as `settings/custom_views` lists it.
pub fn all_view(module: &Module, version: ApiVersion) -> CustomView {
    let name = format!("All {}", module.plural_label);
    CustomView {
        id: all_view_id(&module.id),
        name: name.clone(),
        display_value: name,
        system_name: "ALLVIEWS".to_string(),
        system_defined: true,
        default: true,
        module: version.module_ref(&module.api_name, Some(&module.id)),
    }
}
