-- Counters kept by the database: the statement that adds a message or a conversation also
-- counts it, in the same transaction, without more round trips. Twin of SQLite's 0006.

CREATE FUNCTION docent_count_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET message_count = message_count + 1, last_activity_at = NEW.created_at
        WHERE id = NEW.conversation_id;
    UPDATE chat_spaces SET message_count = message_count + (NEW.role = 'user')::int,
        last_message_at = NEW.created_at
        WHERE id = NEW.chat_space_id;
    INSERT INTO usage_daily (org_id, chat_space_id, date, messages, tokens, cost)
        VALUES (NEW.org_id, NEW.chat_space_id, (NEW.created_at AT TIME ZONE 'UTC')::date,
                (NEW.role = 'user')::int, NEW.tokens_in + NEW.tokens_out, NEW.cost_micro_usd)
        ON CONFLICT (chat_space_id, date) DO UPDATE SET
            messages = usage_daily.messages + EXCLUDED.messages,
            tokens = usage_daily.tokens + EXCLUDED.tokens,
            cost = usage_daily.cost + EXCLUDED.cost;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_count AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION docent_count_message();

CREATE FUNCTION docent_count_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily (org_id, chat_space_id, date, conversations)
        VALUES (NEW.org_id, NEW.chat_space_id, (NEW.created_at AT TIME ZONE 'UTC')::date, 1)
        ON CONFLICT (chat_space_id, date) DO UPDATE SET
            conversations = usage_daily.conversations + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_count AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION docent_count_conversation();
