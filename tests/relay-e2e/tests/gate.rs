//! The Worker's gate against workerd: tenant isolation on every route, refusals a browser can
//! read, and token hygiene.
