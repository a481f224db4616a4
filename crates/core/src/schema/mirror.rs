//! Mirroring a real Zoho org: its settings/modules, settings/fields and settings/layouts JSON → an `OrgSchema`. (Being written.)
