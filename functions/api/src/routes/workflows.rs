//! `/v1/workflows`: the tenant's collection workflows, the steps the daily communications run
//! takes an open invoice through.

use clientwatch::comms::workflows::{self, WorkflowSpec};

tenant_resource!(
    WorkflowSpec,
    list: workflows::list,
    create: workflows::create,
    get: workflows::get,
    update: workflows::update,
    delete: workflows::delete,
);
