//! Venture server application.
