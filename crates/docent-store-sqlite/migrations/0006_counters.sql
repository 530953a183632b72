-- Counters kept by the database: the statement that adds a message or a conversation also
-- counts it, in the same transaction, without more round trips. Twin of PostgreSQL's 0006.

CREATE TRIGGER messages_count AFTER INSERT ON messages BEGIN
    UPDATE conversations SET message_count = message_count + 1, last_activity_at = NEW.created_at
        WHERE id = NEW.conversation_id;
    UPDATE chat_spaces SET message_count = message_count + (NEW.role = 'user'),
        last_message_at = NEW.created_at
        WHERE id = NEW.chat_space_id;
    INSERT INTO usage_daily (org_id, chat_space_id, date, messages, tokens, cost)
        VALUES (NEW.org_id, NEW.chat_space_id, substr(NEW.created_at, 1, 10), NEW.role = 'user',
                NEW.tokens_in + NEW.tokens_out, NEW.cost_micro_usd)
        ON CONFLICT (chat_space_id, date) DO UPDATE SET messages = messages + excluded.messages,
            tokens = tokens + excluded.tokens, cost = cost + excluded.cost;
END;

CREATE TRIGGER conversations_count AFTER INSERT ON conversations BEGIN
    INSERT INTO usage_daily (org_id, chat_space_id, date, conversations)
        VALUES (NEW.org_id, NEW.chat_space_id, substr(NEW.created_at, 1, 10), 1)
        ON CONFLICT (chat_space_id, date) DO UPDATE SET conversations = conversations + 1;
END;
