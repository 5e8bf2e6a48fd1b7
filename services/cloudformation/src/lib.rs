//! AWS CloudFormation.

#![forbid(unsafe_code)]

pub mod graph;
pub mod intrinsic;
pub mod template;
pub mod yaml;
