//! Wire codecs driven by the service model: Query and EC2 form parameters in,
//! REST-XML payloads in, XML out, and model validation of every input.

pub mod json_out;
pub mod query;
pub mod validate;
pub mod xml;
pub mod xml_in;
