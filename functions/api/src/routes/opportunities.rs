//! `/v1/clients/{id}/opportunities`: a client's loan applications.

use clientwatch::domain::opportunities::{self, OpportunitySpec};

client_resource!(
    OpportunitySpec,
    list: opportunities::list,
    create: opportunities::create,
    get: opportunities::get,
    update: opportunities::update,
    delete: opportunities::delete,
);
