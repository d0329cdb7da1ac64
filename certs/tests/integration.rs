//! rampart-certs' integration tests, in one binary: the command line, and PEM loading's
//! round trips.

mod cli;
mod pem_props;
