//! The HTTP face of a simulated cluster: what a real kube-apiserver answers, path by path.
//!
//! [`router`] routes by hand over Kubernetes paths and serves GET, LIST and WATCH; writes are
//! in [`writes`], [`patch`] (with [`strategic`]) and [`scale`]; pod logs (a generated one in
//! [`generated_log`]) and port-forward are their own subresources; [`discovery`] and the two
//! OpenAPI documents let kubectl find its way; [`table`] prints the server-side Tables
//! `kubectl get` asks for; [`responses`] shapes every `Status` body; [`listener`] owns the
//! loopback socket.

pub(crate) mod discovery;
pub(crate) mod generated_log;
pub(crate) mod listener;
pub(crate) mod logs;
pub(crate) mod openapi_v2;
pub(crate) mod openapi_v3;
pub(crate) mod patch;
pub(crate) mod portforward;
pub(crate) mod protobuf;
pub(crate) mod query;
pub(crate) mod request;
pub(crate) mod responses;
pub(crate) mod router;
pub(crate) mod scale;
pub(crate) mod strategic;
pub(crate) mod table;
pub(crate) mod watch;
pub(crate) mod writes;
