# Fills a Docent SQLite database (`docent.db` of a data dir) with N conversations of two
# messages each, for scripts/bench-export: the organization and chat space ids and the
# timestamp format are copied from the one real conversation there; ids are UUIDv7 in the
# order of their (generated) creation times, over November 2026.
import sqlite3, sys, os, random, datetime
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db, timeout=30)
org, space, created = con.execute("SELECT org_id, chat_space_id, created_at FROM conversations LIMIT 1").fetchone()
print("sample created_at:", created)
def uuid7(ms):
    b = bytearray(ms.to_bytes(6, 'big') + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0f); b[8] = 0x80 | (b[8] & 0x3f)
    return bytes(b)
start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
step = (30 * 86400 * 1000) // n
def fmt(t):
    # the same shape as the sample: RFC 3339 with the sample's fraction and offset style
    s = t.strftime('%Y-%m-%dT%H:%M:%S.%f')
    return s + created[created.index('+'):] if '+' in created else s + 'Z'
rows_c, rows_m = [], []
for i in range(n):
    ms = int(start.timestamp() * 1000) + i * step
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    cid = uuid7(ms)
    rows_c.append((cid, org, space, f"v-{i:010d}", None, None, None, "bench", "https://shop.example/p/%d" % i, "en", "widget", "active", 2, fmt(t), fmt(t)))
    q = f"Question {i}: how long do refunds take, and can I return item {i}, \"unused\"?"
    rows_m.append((uuid7(ms), org, space, cid, "user", q, fmt(t)))
    rows_m.append((uuid7(ms + 1), org, space, cid, "assistant", "Refunds reach your card in five days. [1]", fmt(t)))
con.executemany("INSERT INTO conversations (id, org_id, chat_space_id, visitor_id, end_user_email, end_user_name, ip, user_agent, referrer, locale, channel, status, message_count, last_activity_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows_c)
con.executemany("INSERT INTO messages (id, org_id, chat_space_id, conversation_id, role, content, created_at) VALUES (?,?,?,?,?,?,?)", rows_m)
con.commit()
print("inserted", n, "conversations")
