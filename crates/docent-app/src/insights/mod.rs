//! What a business gets back from its chatbot: analytics of its conversations (DESIGN §4
//! "Operators").

pub mod analytics;
