//! Probe families that more than one command composes: what to tell the kernel programs (kernel layouts, watch
//! maps), in which order to attach them, and what their events become. Commands pick families; no command
//! reaches into another command's module.

pub mod files;
pub mod net;
