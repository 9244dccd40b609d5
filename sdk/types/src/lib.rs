//! The JSON documents factory components exchange, shared by the host and
//! the guest SDK so both sides agree on one definition:
//! - [`task::Task`] (`factory.task/v1`), what intake produces;
//! - [`plan::Plan`], what the architect produces;
//! - [`roles`], the input and output of each role kind;
//! - [`report::TestReport`], test results, with parsers for `cargo test`,
//!   pytest, unittest and JUnit XML.

pub mod brief;
pub mod glob;
pub mod plan;
pub mod report;
pub mod roles;
pub mod task;

pub use plan::{Plan, Subtask};
pub use report::{TestFailure, TestReport};
pub use task::{Priority, Source, Task};
