/**
 * The Lua scripts behind `RedisStore` (redis.ts), one per store operation that must be atomic
 * (BRIDGE.md §18, after Signal's `MessagesCache`). A script runs with no other command interleaved,
 * which is what the SQLite store gets from a transaction: the idempotency check, the quotas, the
 * recipient's seq counter and the insert of one `send` can never be split by another node.
 *
 * Every script takes the key prefix as ARGV[1] and builds its keys from it. That is fine on a
 * single Redis primary (with replicas / Sentinel, Valkey, managed Redis); Redis Cluster would need
 * the keys declared and hash-tagged per recipient, which this store does not do (see redis.ts).
 *
 * Key layout (P = prefix):
 *   P s:<sid>        HASH  kind creator members(JSON) createdAt expiresAt count [closed]
 *   P sm:<sid>       SET   current members                      (a member who left is removed)
 *   P sj:<sid>       SET   members who joined (consented); the creator from the start
 *   P ps:<sid>       HASH  rcpt → pending messages for rcpt in this session
 *   P sp:<sender>    STRING pending messages from this sender (all sessions)
 *   P si:<sid>       HASH  "<sender> <msgId>" → "digest seq ts recipient size"   (idempotency,
 *                          also the tombstone after an ack; lives as long as the session)
 *   P sx             ZSET  sid → expiresAt                      (session expiry index)
 *   P dv:<device>    ZSET  sid → expiresAt                      (sessions the device is in)
 *   P cr:<device>    ZSET  sid → expiresAt                      (sessions the device created)
 *   P c:<rcpt>       HASH  last n b u                           (seq counter, pending count/bytes,
 *                          pending from sessions rcpt has not joined)
 *   P q:<rcpt>       ZSET  "seq:size" → seq                     (pending messages, in seq order)
 *   P qx:<rcpt>      ZSET  "seq:size" → expiresAt               (same entries, by expiry)
 *   P m:<rcpt>:<seq> HASH  sid sender msgId tag ts exp ct      (one pending message)
 *   P due            ZSET  rcpt → earliest pending expiry        (mailboxes the sweeper must visit)
 *
 * Every key has a Redis expiry (relative, from the relay's own clock: the relay may run a test
 * clock, so absolute PEXPIREAT would be wrong) a grace period after its logical expiry; the
 * sweeper does the logical expiry and keeps the counters right, Redis expiry is the backstop that
 * bounds memory if no sweeper runs. The global `sx` and `due` sets hold one entry per live session
 * / per mailbox with pending messages. The seq counter `c:` outlives its messages by a week so that
 * seqs are not reused while a client could still hold one.
 */

/** Shared Lua helpers, prepended to every script. */
const PRELUDE = `
local P = ARGV[1]
local function split(s)
  local out = {}
  for w in string.gmatch(s, '[^ ]+') do out[#out + 1] = w end
  return out
end
-- Take one pending message of rcpt (its message hash mk, about to be deleted) off the
-- per-session, per-sender and unjoined counters. Call before the session's sets are deleted.
local function uncount(rcpt, mk)
  local f = redis.call('HMGET', mk, 'sid', 'sender')
  if not f[1] then return end
  local ps = P .. 'ps:' .. f[1]
  if redis.call('HINCRBY', ps, rcpt, -1) <= 0 then redis.call('HDEL', ps, rcpt) end
  local sp = P .. 'sp:' .. f[2]
  if redis.call('DECR', sp) <= 0 then redis.call('DEL', sp) end
  if redis.call('SISMEMBER', P .. 'sj:' .. f[1], rcpt) == 0 then
    redis.call('HINCRBY', P .. 'c:' .. rcpt, 'u', -1)
  end
end
-- Remove one pending entry ("seq:size") of rcpt's mailbox; returns 1 if it was pending.
local function unpend(rcpt, member)
  if redis.call('ZREM', P .. 'q:' .. rcpt, member) == 0 then return 0 end
  redis.call('ZREM', P .. 'qx:' .. rcpt, member)
  local sep = string.find(member, ':', 1, true)
  local seq = string.sub(member, 1, sep - 1)
  local size = tonumber(string.sub(member, sep + 1))
  local mk = P .. 'm:' .. rcpt .. ':' .. seq
  uncount(rcpt, mk)
  redis.call('DEL', mk)
  local c = P .. 'c:' .. rcpt
  redis.call('HINCRBY', c, 'n', -1)
  redis.call('HINCRBY', c, 'b', -size)
  return 1
end
-- Drop rcpt's pending messages in sid (leave, close); tombstones stay in si:<sid>.
local function dropFor(sid, rcpt)
  for _, v in ipairs(redis.call('HVALS', P .. 'si:' .. sid)) do
    local f = split(v)
    if f[4] == rcpt then unpend(rcpt, f[2] .. ':' .. f[5]) end
  end
end
-- Remove several pending entries of rcpt's mailbox, all known to be in its queue, in one call
-- per key kind instead of four calls per entry. Returns how many.
local function unpendMany(rcpt, members)
  if #members == 0 then return 0 end
  local keys, bytes = {}, 0
  for i, member in ipairs(members) do
    local sep = string.find(member, ':', 1, true)
    keys[i] = P .. 'm:' .. rcpt .. ':' .. string.sub(member, 1, sep - 1)
    bytes = bytes + tonumber(string.sub(member, sep + 1))
    uncount(rcpt, keys[i])
  end
  local n = redis.call('ZREM', P .. 'q:' .. rcpt, unpack(members))
  redis.call('ZREM', P .. 'qx:' .. rcpt, unpack(members))
  redis.call('DEL', unpack(keys))
  local c = P .. 'c:' .. rcpt
  redis.call('HINCRBY', c, 'n', -n)
  redis.call('HINCRBY', c, 'b', -bytes)
  return n
end
local function purge(sid)
  local sk = P .. 's:' .. sid
  local fields = redis.call('HMGET', sk, 'members', 'creator')
  if fields[1] then
    for _, m in ipairs(cjson.decode(fields[1])) do redis.call('ZREM', P .. 'dv:' .. m, sid) end
    redis.call('ZREM', P .. 'cr:' .. fields[2], sid)
  end
  local si = P .. 'si:' .. sid
  for _, v in ipairs(redis.call('HVALS', si)) do
    local f = split(v)
    unpend(f[4], f[2] .. ':' .. f[5])
  end
  redis.call('DEL', si, sk, P .. 'sm:' .. sid, P .. 'sj:' .. sid, P .. 'ps:' .. sid)
  redis.call('ZREM', P .. 'sx', sid)
end
`;

/**
 * ARGV: P, sid, kind, creator, membersJson, createdAt, expiresAt, ttlMs (incl. grace), member...
 * Returns 1, or 0 if the sid exists (collision).
 */
export const CREATE_SESSION = `${PRELUDE}
local sid = ARGV[2]
local sk = P .. 's:' .. sid
if redis.call('EXISTS', sk) == 1 then return 0 end
local exp = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
redis.call('HSET', sk, 'kind', ARGV[3], 'creator', ARGV[4], 'members', ARGV[5], 'createdAt', ARGV[6],
  'expiresAt', ARGV[7], 'count', 0)
redis.call('PEXPIRE', sk, ttl)
local sm, sj = P .. 'sm:' .. sid, P .. 'sj:' .. sid
redis.call('SADD', sm, unpack(ARGV, 9))
redis.call('SADD', sj, ARGV[4])
redis.call('PEXPIRE', sm, ttl)
redis.call('PEXPIRE', sj, ttl)
redis.call('ZADD', P .. 'sx', exp, sid)
for i = 9, #ARGV do
  local k = P .. 'dv:' .. ARGV[i]
  redis.call('ZADD', k, exp, sid)
  redis.call('PEXPIRE', k, ttl, 'GT')
  redis.call('PEXPIRE', k, ttl, 'NX')
end
local cr = P .. 'cr:' .. ARGV[4]
redis.call('ZADD', cr, exp, sid)
redis.call('PEXPIRE', cr, ttl, 'GT')
redis.call('PEXPIRE', cr, ttl, 'NX')
return 1
`;

/**
 * ARGV: P, maxSessionMessages, maxMailboxMessages, maxMailboxBytes, graceMs, counterKeepMs,
 * maxSessionMailboxMessages, maxSenderPendingMessages, maxUnjoinedMailboxMessages (-1 = none),
 * then 10 per message: sid sender rcpt msgId tag ct digest ts exp wake
 * (wake: a pub/sub channel to PUBLISH "<seq> <deliver frame>" on once stored, or "" for none).
 * Returns one string per message: "s seq ts" | "d seq ts" | "c" | "m" | "n" | "f <limit>".
 */
export const PUT_MANY = `${PRELUDE}
local maxSess, maxMsgs, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local grace, keep = tonumber(ARGV[5]), tonumber(ARGV[6])
local maxPerSess, maxSender, maxUnjoined = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local out = {}
for i = 10, #ARGV, 10 do
  local sid, sender, rcpt, msgId, tag, ct, digest = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5], ARGV[i+6]
  local ts, exp, wake = tonumber(ARGV[i+7]), tonumber(ARGV[i+8]), ARGV[i+9]
  local sk = P .. 's:' .. sid
  local si = P .. 'si:' .. sid
  local field = sender .. ' ' .. msgId
  local r
  local sess = redis.call('HMGET', sk, 'count', 'closed')
  local count = sess[1]
  if not count or sess[2] then
    r = 'm'
  else
    local ex = redis.call('HGET', si, field)
    if ex then
      local f = split(ex)
      if f[1] == digest then r = 'd ' .. f[2] .. ' ' .. f[3] else r = 'c' end
    elseif redis.call('SISMEMBER', P .. 'sm:' .. sid, rcpt) == 0 then
      r = 'n'
    elseif tonumber(count) >= maxSess then
      r = 'f messages_per_session'
    else
      local c = P .. 'c:' .. rcpt
      local mb = redis.call('HMGET', c, 'last', 'n', 'b', 'u')
      local last, n, b = tonumber(mb[1] or '0'), tonumber(mb[2] or '0'), tonumber(mb[3] or '0')
      local u = tonumber(mb[4] or '0')
      local size = string.len(ct)
      local ps, sp = P .. 'ps:' .. sid, P .. 'sp:' .. sender
      local joined = redis.call('SISMEMBER', P .. 'sj:' .. sid, rcpt) == 1
      if n >= maxMsgs then
        r = 'f mailbox_messages'
      elseif b + size > maxBytes then
        r = 'f mailbox_bytes'
      elseif maxPerSess >= 0 and tonumber(redis.call('HGET', ps, rcpt) or '0') >= maxPerSess then
        r = 'f session_mailbox_messages'
      elseif maxSender >= 0 and tonumber(redis.call('GET', sp) or '0') >= maxSender then
        r = 'f sender_pending_messages'
      elseif maxUnjoined >= 0 and not joined and u >= maxUnjoined then
        r = 'f unjoined_messages'
      else
        local seq = last + 1
        local ttl = math.max(exp - ts, 1) + grace
        local member = seq .. ':' .. size
        redis.call('HSET', c, 'last', seq, 'n', n + 1, 'b', b + size)
        if not joined then redis.call('HINCRBY', c, 'u', 1) end
        redis.call('PEXPIRE', c, ttl + keep, 'GT')
        redis.call('PEXPIRE', c, ttl + keep, 'NX')
        redis.call('HINCRBY', ps, rcpt, 1)
        if redis.call('PTTL', ps) < 0 then redis.call('PEXPIRE', ps, redis.call('PTTL', sk)) end
        redis.call('INCR', sp)
        redis.call('PEXPIRE', sp, ttl, 'GT')
        redis.call('PEXPIRE', sp, ttl, 'NX')
        local mk = P .. 'm:' .. rcpt .. ':' .. seq
        redis.call('HSET', mk, 'sid', sid, 'sender', sender, 'msgId', msgId, 'tag', tag, 'ts', ts, 'exp', exp, 'ct', ct)
        redis.call('PEXPIRE', mk, ttl)
        local q, qx = P .. 'q:' .. rcpt, P .. 'qx:' .. rcpt
        redis.call('ZADD', q, seq, member)
        redis.call('ZADD', qx, exp, member)
        for _, k in ipairs({q, qx}) do
          redis.call('PEXPIRE', k, ttl, 'GT')
          redis.call('PEXPIRE', k, ttl, 'NX')
        end
        -- LT still adds a missing member: the mailbox's earliest expiry, for the sweeper.
        redis.call('ZADD', P .. 'due', 'LT', exp, rcpt)
        redis.call('HSET', si, field, digest .. ' ' .. seq .. ' ' .. ts .. ' ' .. rcpt .. ' ' .. size)
        redis.call('HINCRBY', sk, 'count', 1)
        if redis.call('PTTL', si) < 0 then redis.call('PEXPIRE', si, redis.call('PTTL', sk)) end
        if wake ~= '' then
          -- The \`deliver\` frame itself (relay.ts deliverJson: every field was validated to a
          -- charset JSON never escapes), so the recipient's node can send it without a read.
          redis.call('PUBLISH', wake, seq .. ' {"t":"deliver","sid":"' .. sid .. '","from":"' .. sender ..
            '","to":"' .. rcpt .. '","tag":"' .. tag .. '","msgId":"' .. msgId .. '","seq":' .. seq ..
            ',"ts":' .. ARGV[i+7] .. ',"ct":"' .. ct .. '"}')
        end
        r = 's ' .. seq .. ' ' .. ts
      end
    end
  end
  out[#out + 1] = r
end
return out
`;

/**
 * ARGV: P, then per batch: rcpt, k, seq1..seqk. Returns how many were pending. The entries are
 * found with one range read when the seqs are dense (the usual ack of a run of deliveries), else
 * one lookup each, and removed together.
 */
export const ACK_MANY = `${PRELUDE}
local total = 0
local i = 2
while i <= #ARGV do
  local rcpt, k = ARGV[i], tonumber(ARGV[i+1])
  local q = P .. 'q:' .. rcpt
  local want, lo, hi = {}, nil, nil
  for j = i + 2, i + 1 + k do
    local s = tonumber(ARGV[j])
    want[s] = true
    if lo == nil or s < lo then lo = s end
    if hi == nil or s > hi then hi = s end
  end
  local members, seen = {}, {}
  if lo ~= nil and hi - lo < 4 * k then
    for _, m in ipairs(redis.call('ZRANGE', q, lo, hi, 'BYSCORE')) do
      local s = tonumber(string.sub(m, 1, string.find(m, ':', 1, true) - 1))
      if want[s] then members[#members + 1] = m end
    end
  else
    for s in pairs(want) do
      local hit = redis.call('ZRANGE', q, s, s, 'BYSCORE')
      if hit[1] and not seen[hit[1]] then
        seen[hit[1]] = true
        members[#members + 1] = hit[1]
      end
    end
  end
  total = total + unpendMany(rcpt, members)
  i = i + 2 + k
end
return total
`;

const MSG_FIELDS = `'sid', 'sender', 'msgId', 'tag', 'ts', 'exp', 'ct'`;

/**
 * ARGV: P, rcpt, afterSeq, limit, now, sid ('' = any), maxChars (0 = no cap). Returns flat [seq sid
 * sender msgId tag ts exp ct]... of pending, unexpired messages, ascending, stopping once their
 * ciphertexts total maxChars (that one included). Scans in chunks so a sid filter over a full
 * mailbox still costs at most one pass over it.
 */
export const LIST_AFTER = `${PRELUDE}
local rcpt, after, limit, now, sid = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local maxChars = tonumber(ARGV[7])
local q = P .. 'q:' .. rcpt
local out, found, chars = {}, 0, 0
local from = '(' .. after
while found < limit and (maxChars == 0 or chars < maxChars) do
  local chunk = redis.call('ZRANGE', q, from, '+inf', 'BYSCORE', 'LIMIT', 0, 200)
  if #chunk == 0 then break end
  for _, member in ipairs(chunk) do
    local seq = string.sub(member, 1, string.find(member, ':', 1, true) - 1)
    local m = redis.call('HMGET', P .. 'm:' .. rcpt .. ':' .. seq, ${MSG_FIELDS})
    if m[1] and tonumber(m[6]) > now and (sid == '' or m[1] == sid) then
      out[#out + 1] = seq
      for f = 1, 7 do out[#out + 1] = m[f] end
      found = found + 1
      chars = chars + string.len(m[7])
      if found >= limit or (maxChars > 0 and chars >= maxChars) then break end
    end
    from = '(' .. seq
  end
end
return out
`;

/** ARGV: P, rcpt, now, seq... Same output as LIST_AFTER for the seqs still pending. */
export const GET_BY_SEQS = `${PRELUDE}
local rcpt, now = ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local m = redis.call('HMGET', P .. 'm:' .. rcpt .. ':' .. ARGV[i], ${MSG_FIELDS})
  if m[1] and tonumber(m[6]) > now then
    out[#out + 1] = ARGV[i]
    for f = 1, 7 do out[#out + 1] = m[f] end
  end
end
return out
`;

/**
 * ARGV: P, device, now. Returns flat [sid kind creator members createdAt expiresAt count]... of
 * the device's unexpired sessions; drops index entries whose session is gone.
 */
export const LIST_SESSIONS = `${PRELUDE}
local dv = P .. 'dv:' .. ARGV[2]
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', dv, '(' .. ARGV[3], '+inf', 'BYSCORE')) do
  local s = redis.call('HMGET', P .. 's:' .. sid, 'kind', 'creator', 'members', 'createdAt', 'expiresAt', 'count', 'closed')
  if s[7] then
    -- closed: not listed (its messages stay deliverable)
  elseif s[1] then
    out[#out + 1] = sid
    for f = 1, 6 do out[#out + 1] = s[f] end
  else
    redis.call('ZREM', dv, sid)
  end
end
return out
`;

/** ARGV: P, sid. */
export const PURGE_SESSION = `${PRELUDE}
purge(ARGV[2])
return 1
`;

/**
 * ARGV: P, now, maxMailboxes. Purges expired sessions, then drops expired messages from the
 * mailboxes whose earliest expiry has passed. Returns {messages, sessions}.
 */
export const SWEEP = `${PRELUDE}
local now, maxBoxes = tonumber(ARGV[2]), tonumber(ARGV[3])
local sessions, messages = 0, 0
for _, sid in ipairs(redis.call('ZRANGE', P .. 'sx', '-inf', now, 'BYSCORE', 'LIMIT', 0, maxBoxes)) do
  purge(sid)
  sessions = sessions + 1
end
local due = P .. 'due'
for _, rcpt in ipairs(redis.call('ZRANGE', due, '-inf', now, 'BYSCORE', 'LIMIT', 0, maxBoxes)) do
  local qx = P .. 'qx:' .. rcpt
  for _, member in ipairs(redis.call('ZRANGE', qx, '-inf', now, 'BYSCORE')) do
    messages = messages + unpend(rcpt, member)
  end
  local nxt = redis.call('ZRANGE', qx, 0, 0, 'WITHSCORES')
  if nxt[1] then redis.call('ZADD', due, nxt[2], rcpt) else redis.call('ZREM', due, rcpt) end
end
return {messages, sessions}
`;

/**
 * ARGV: P, sid, device. The member consents: its pending messages in sid leave the unjoined count.
 * Returns 1, or 0 if it is not a member.
 */
export const JOIN_SESSION = `${PRELUDE}
local sid, dev = ARGV[2], ARGV[3]
if redis.call('SISMEMBER', P .. 'sm:' .. sid, dev) == 0 then return 0 end
if redis.call('SADD', P .. 'sj:' .. sid, dev) == 1 then
  local n = tonumber(redis.call('HGET', P .. 'ps:' .. sid, dev) or '0')
  if n > 0 then redis.call('HINCRBY', P .. 'c:' .. dev, 'u', -n) end
end
return 1
`;

/**
 * ARGV: P, sid, device. The member leaves: its pending messages there are dropped, it is no longer
 * a member (the session's members JSON is rewritten for the other nodes' caches). Returns 1, or 0
 * if it was not a member.
 */
export const LEAVE_SESSION = `${PRELUDE}
local sid, dev = ARGV[2], ARGV[3]
local sk = P .. 's:' .. sid
if redis.call('SISMEMBER', P .. 'sm:' .. sid, dev) == 0 then return 0 end
dropFor(sid, dev)
redis.call('SREM', P .. 'sm:' .. sid, dev)
redis.call('SREM', P .. 'sj:' .. sid, dev)
local members = cjson.decode(redis.call('HGET', sk, 'members'))
local kept = {}
for _, m in ipairs(members) do if m ~= dev then kept[#kept + 1] = m end end
redis.call('HSET', sk, 'members', cjson.encode(kept))
redis.call('ZREM', P .. 'dv:' .. dev, sid)
return 1
`;

/**
 * ARGV: P, sid, by. Close: no new sends (the put script reads 'closed'), not listed, no longer
 * counted against the creator; by's own pending messages there are dropped, the others' stay.
 */
export const CLOSE_SESSION = `${PRELUDE}
local sid, by = ARGV[2], ARGV[3]
local sk = P .. 's:' .. sid
local creator = redis.call('HGET', sk, 'creator')
if not creator then return 0 end
redis.call('HSET', sk, 'closed', 1)
redis.call('ZREM', P .. 'cr:' .. creator, sid)
dropFor(sid, by)
return 1
`;
