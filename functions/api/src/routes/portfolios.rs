//! `/v1/portfolios`: groups of clients that share a collection workflow.

use clientwatch::comms::portfolios::{self, PortfolioSpec};

tenant_resource!(
    PortfolioSpec,
    list: portfolios::list,
    create: portfolios::create,
    get: portfolios::get,
    update: portfolios::update,
    delete: portfolios::delete,
);
