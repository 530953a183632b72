//! What a business gets back from its chatbot: analytics of its conversations, the questions
//! asked most and the knowledge gaps that close (DESIGN §4 "Operators").

pub mod analytics;
pub mod gaps;
pub mod questions;
