//! `/v1/client-types`: individual or company, and whether its clients may be monitored.

use clientwatch::domain::clients::{self, ClientTypeSpec};

tenant_resource!(
    ClientTypeSpec,
    list: clients::list_types,
    create: clients::create_type,
    get: clients::get_type,
    update: clients::update_type,
    delete: clients::delete_type,
);
