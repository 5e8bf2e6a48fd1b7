//! EC2 VPC.
