-- schema.sql - the SQLite schema, as the ordered migrations that build it.
--
-- Each "-- migration N" line starts migration N, which brings a database
-- from PRAGMA user_version N - 1 to N; the store runs those a database
-- lacks, each in one transaction, in order (store.c). The build embeds
-- this file in the server (CMakeLists.txt). Never edit a released
-- migration: add one at the end. No line outside a migration but these.
--
-- Statuses are status.def's (their texts are spelled out here so the file
-- stands alone). On the send path, no constant IN list of more than two
-- values in a statement, CHECK or trigger: SQLite builds a temporary
-- b-tree for one on each run (migration 8); use a CASE.

-- migration 1
CREATE TABLE merchants (
  mch_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  api_key TEXT NOT NULL,
  balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
  sends_per_minute INTEGER NOT NULL,
  packets_per_user_per_day INTEGER NOT NULL,
  amount_per_user_per_day INTEGER NOT NULL,
  amount_per_day INTEGER NOT NULL
);
CREATE TABLE apps (
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  appid TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('MP', 'APP')),
  PRIMARY KEY (mch_id, appid)
);
CREATE TABLE scenes (
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  scene_id TEXT NOT NULL,
  PRIMARY KEY (mch_id, scene_id)
);
CREATE TABLE users (
  openid TEXT PRIMARY KEY,
  appid TEXT NOT NULL
);
CREATE TABLE packets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  mch_billno TEXT NOT NULL,
  hb_type TEXT NOT NULL CHECK (hb_type IN ('GROUP', 'NORMAL')),
  status TEXT NOT NULL,
  wxappid TEXT NOT NULL, re_openid TEXT NOT NULL,
  send_name TEXT NOT NULL, wishing TEXT NOT NULL,
  act_name TEXT NOT NULL, remark TEXT NOT NULL,
  scene_id TEXT, client_ip TEXT, amt_type TEXT,
  total_amount INTEGER NOT NULL CHECK (total_amount > 0),
  total_num INTEGER NOT NULL CHECK (total_num > 0),
  send_listid TEXT UNIQUE,
  err_code TEXT, reason TEXT,
  created_at INTEGER NOT NULL,
  send_time INTEGER,
  refund_time INTEGER, refund_amount INTEGER,
  UNIQUE (mch_id, mch_billno)
);
CREATE INDEX packets_by_receiver ON packets(mch_id, re_openid, send_time);
CREATE INDEX packets_by_created ON packets(mch_id, created_at);
CREATE INDEX packets_by_sent ON packets(mch_id, send_time);
CREATE TABLE shares (
  packet_id INTEGER NOT NULL REFERENCES packets(id),
  seq INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount >= 1),
  openid TEXT, rcv_time INTEGER,
  PRIMARY KEY (packet_id, seq)
);
CREATE TABLE ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  amount INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('fixture', 'topup', 'set', 'send', 'refund')),
  packet_id INTEGER REFERENCES packets(id),
  at INTEGER NOT NULL
);
CREATE INDEX ledger_by_merchant ON ledger(mch_id);

-- migration 2
-- The lifecycle: persisted clock, sweeps, receipts by opener.
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE INDEX packets_by_status ON packets(status, send_time);
CREATE INDEX packets_by_billno ON packets(mch_billno);
CREATE INDEX shares_by_opener ON shares(openid, rcv_time);
CREATE INDEX ledger_by_packet ON ledger(packet_id);

-- migration 3
-- The merchant's API switch and IP allow-list.
ALTER TABLE merchants ADD COLUMN api_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE merchants ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';

-- migration 4
-- A PROCESSING order that settles by itself (a fault rule's delay).
ALTER TABLE packets ADD COLUMN settle_at INTEGER;
ALTER TABLE packets ADD COLUMN settle_to TEXT CHECK (settle_to IN ('SENT', 'FAILED'));

-- migration 5
-- Running counters for the rate and the daily limits, so a send looks its
-- limits up by key instead of summing a growing table. Triggers keep them in
-- the same transaction as the rows they count, whichever code path writes
-- those rows. A day is a Beijing calendar day: (t + 8 h) / 24 h. Rows are
-- only deleted by a reset, which clears the counters itself.
CREATE TABLE rate_second (
  mch_id TEXT NOT NULL, second INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (mch_id, second)) WITHOUT ROWID;
CREATE TABLE day_merchant (
  mch_id TEXT NOT NULL, day INTEGER NOT NULL, amount INTEGER NOT NULL,
  PRIMARY KEY (mch_id, day)) WITHOUT ROWID;
CREATE TABLE day_user (
  mch_id TEXT NOT NULL, openid TEXT NOT NULL, day INTEGER NOT NULL,
  count INTEGER NOT NULL, amount INTEGER NOT NULL,
  PRIMARY KEY (mch_id, openid, day)) WITHOUT ROWID;
-- Every order counts for the rate when created; seconds older than two
-- minutes are pruned as new ones come (by key, a few rows).
CREATE TRIGGER count_created AFTER INSERT ON packets BEGIN
  INSERT INTO rate_second VALUES (NEW.mch_id, NEW.created_at, 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
  DELETE FROM rate_second WHERE mch_id = NEW.mch_id AND second < NEW.created_at - 120;
END;
-- An issued packet: the merchant's day, and its receiver's count (a normal
-- packet's amount too; a group's seed share comes with the share row).
-- Issued at insert, or later by a settle.
CREATE TRIGGER count_issued_insert AFTER INSERT ON packets
  WHEN NEW.send_time > 0 AND NEW.status IN ('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND') BEGIN
  INSERT INTO day_merchant VALUES (NEW.mch_id, (NEW.send_time + 28800) / 86400,
    NEW.total_amount) ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO day_user VALUES (NEW.mch_id, NEW.re_openid, (NEW.send_time + 28800) / 86400,
    1, CASE NEW.hb_type WHEN 'NORMAL' THEN NEW.total_amount ELSE 0 END)
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
CREATE TRIGGER count_issued_update AFTER UPDATE OF send_time ON packets
  WHEN IFNULL(OLD.send_time, 0) = 0 AND NEW.send_time > 0
  AND NEW.status IN ('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND') BEGIN
  INSERT INTO day_merchant VALUES (NEW.mch_id, (NEW.send_time + 28800) / 86400,
    NEW.total_amount) ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO day_user VALUES (NEW.mch_id, NEW.re_openid, (NEW.send_time + 28800) / 86400,
    1, CASE NEW.hb_type WHEN 'NORMAL' THEN NEW.total_amount ELSE 0 END)
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
-- A group's first share is its seed user's.
CREATE TRIGGER count_seed_share AFTER INSERT ON shares WHEN NEW.seq = 0 BEGIN
  INSERT INTO day_user SELECT p.mch_id, p.re_openid, (p.send_time + 28800) / 86400, 0,
    NEW.amount FROM packets p WHERE p.id = NEW.packet_id AND p.hb_type = 'GROUP'
    AND p.send_time > 0 AND p.status IN ('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND')
    ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
-- A share opened by someone else than the seed user is theirs.
CREATE TRIGGER count_opened AFTER UPDATE OF openid ON shares
  WHEN OLD.openid IS NULL AND NEW.openid IS NOT NULL BEGIN
  INSERT INTO day_user SELECT p.mch_id, NEW.openid, (NEW.rcv_time + 28800) / 86400, 1,
    NEW.amount FROM packets p WHERE p.id = NEW.packet_id AND p.re_openid != NEW.openid
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
-- What an older database already holds.
INSERT INTO rate_second SELECT mch_id, created_at, COUNT(*) FROM packets
  GROUP BY mch_id, created_at;
INSERT INTO day_merchant
  SELECT mch_id, (send_time + 28800) / 86400, SUM(total_amount) FROM packets
  WHERE send_time > 0 AND status IN ('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND') GROUP BY 1, 2;
INSERT INTO day_user
  SELECT mch_id, openid, day, SUM(c), SUM(a) FROM (
    SELECT p.mch_id AS mch_id, p.re_openid AS openid,
      (p.send_time + 28800) / 86400 AS day, 1 AS c, CASE p.hb_type WHEN 'NORMAL'
      THEN p.total_amount ELSE IFNULL((SELECT s.amount FROM shares s
      WHERE s.packet_id = p.id AND s.seq = 0), 0) END AS a FROM packets p
      WHERE p.send_time > 0 AND p.status IN ('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND')
    UNION ALL SELECT p.mch_id, s.openid, (s.rcv_time + 28800) / 86400, 1, s.amount
      FROM shares s JOIN packets p ON p.id = s.packet_id
      WHERE s.openid IS NOT NULL AND s.openid != p.re_openid) GROUP BY 1, 2, 3;

-- migration 6
-- The indexes the limit checks summed over: the counters replaced them, and
-- each was three more pages to write on every send.
DROP INDEX packets_by_receiver;
DROP INDEX packets_by_created;
DROP INDEX packets_by_sent;

-- migration 7
-- Packets per merchant and status, for /metrics without a scan.
CREATE TABLE status_count (
  mch_id TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (mch_id, status)) WITHOUT ROWID;
CREATE TRIGGER count_status_insert AFTER INSERT ON packets BEGIN
  INSERT INTO status_count VALUES (NEW.mch_id, NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER count_status_update AFTER UPDATE OF status ON packets
  WHEN OLD.status != NEW.status BEGIN
  UPDATE status_count SET n = n - 1 WHERE mch_id = OLD.mch_id AND status = OLD.status;
  INSERT INTO status_count VALUES (NEW.mch_id, NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
INSERT INTO status_count SELECT mch_id, status, COUNT(*) FROM packets GROUP BY 1, 2;

-- migration 8
-- No constant IN list of more than two values on the send path. SQLite
-- evaluates one through a temporary b-tree built for each run of the
-- statement or trigger: three per send (the ledger's CHECK and two triggers'
-- issued test), a third of SQLite's instructions on a send zeroing and
-- filling their pages. The same tests as CASEs; the ledger is rebuilt for
-- its CHECK, keeping its ids and sequence.
DROP TRIGGER count_issued_insert;
DROP TRIGGER count_issued_update;
DROP TRIGGER count_seed_share;
CREATE TRIGGER count_issued_insert AFTER INSERT ON packets
  WHEN NEW.send_time > 0 AND CASE NEW.status WHEN 'SENT' THEN 1 WHEN 'RECEIVED' THEN 1
    WHEN 'RFUND_ING' THEN 1 WHEN 'REFUND' THEN 1 ELSE 0 END BEGIN
  INSERT INTO day_merchant VALUES (NEW.mch_id, (NEW.send_time + 28800) / 86400,
    NEW.total_amount) ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO day_user VALUES (NEW.mch_id, NEW.re_openid, (NEW.send_time + 28800) / 86400,
    1, CASE NEW.hb_type WHEN 'NORMAL' THEN NEW.total_amount ELSE 0 END)
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
CREATE TRIGGER count_issued_update AFTER UPDATE OF send_time ON packets
  WHEN IFNULL(OLD.send_time, 0) = 0 AND NEW.send_time > 0
  AND CASE NEW.status WHEN 'SENT' THEN 1 WHEN 'RECEIVED' THEN 1
    WHEN 'RFUND_ING' THEN 1 WHEN 'REFUND' THEN 1 ELSE 0 END BEGIN
  INSERT INTO day_merchant VALUES (NEW.mch_id, (NEW.send_time + 28800) / 86400,
    NEW.total_amount) ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO day_user VALUES (NEW.mch_id, NEW.re_openid, (NEW.send_time + 28800) / 86400,
    1, CASE NEW.hb_type WHEN 'NORMAL' THEN NEW.total_amount ELSE 0 END)
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
CREATE TRIGGER count_seed_share AFTER INSERT ON shares WHEN NEW.seq = 0 BEGIN
  INSERT INTO day_user SELECT p.mch_id, p.re_openid, (p.send_time + 28800) / 86400, 0,
    NEW.amount FROM packets p WHERE p.id = NEW.packet_id AND p.hb_type = 'GROUP'
    AND p.send_time > 0 AND CASE p.status WHEN 'SENT' THEN 1 WHEN 'RECEIVED' THEN 1
    WHEN 'RFUND_ING' THEN 1 WHEN 'REFUND' THEN 1 ELSE 0 END
    ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
END;
CREATE TEMP TABLE ledger_seq AS
  SELECT seq FROM sqlite_sequence WHERE name = 'ledger';
CREATE TABLE ledger_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  amount INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (CASE kind WHEN 'fixture' THEN 1 WHEN 'topup' THEN 1
    WHEN 'set' THEN 1 WHEN 'send' THEN 1 WHEN 'refund' THEN 1 ELSE 0 END),
  packet_id INTEGER REFERENCES packets(id),
  at INTEGER NOT NULL
);
INSERT INTO ledger_new SELECT id, mch_id, amount, kind, packet_id, at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
DELETE FROM sqlite_sequence WHERE name = 'ledger';
INSERT INTO sqlite_sequence (name, seq) SELECT 'ledger', seq FROM temp.ledger_seq;
DROP TABLE temp.ledger_seq;
CREATE INDEX ledger_by_merchant ON ledger(mch_id);
CREATE INDEX ledger_by_packet ON ledger(packet_id);

-- migration 9
-- The send path's counters move from triggers into the store's insert
-- functions (store.c: count_packet, count_seed_share). A trigger on an
-- INSERT makes it a multi-row write: SQLite opens a statement journal for
-- it and copies every page it touches there, and runs each trigger in a
-- frame of its own; with four statements per send that was a quarter of
-- SQLite's instructions. Bulk loaders that write packets or shares with SQL
-- of their own rebuild the counters after (store_counters_rebuild). The
-- triggers on UPDATEs (settle, claim, status change) stay: they are off
-- the send path. shares_by_opener served the receipt sums the counters
-- replaced (migration 5): nothing reads it, and it was a page to write per
-- share. shares is rebuilt WITHOUT ROWID: its key (packet_id, seq) was a
-- second b-tree beside the rowid table. packets_by_billno served only the
-- control API's lookup of a billno across merchants, which now goes
-- through the (mch_id, mch_billno) key once per merchant.
DROP INDEX packets_by_billno;
DROP TRIGGER count_created;
DROP TRIGGER count_issued_insert;
DROP TRIGGER count_status_insert;
DROP TRIGGER count_seed_share;
DROP INDEX shares_by_opener;
DROP TRIGGER count_opened;
CREATE TABLE shares_new (
  packet_id INTEGER NOT NULL REFERENCES packets(id),
  seq INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount >= 1),
  openid TEXT, rcv_time INTEGER,
  PRIMARY KEY (packet_id, seq)
) WITHOUT ROWID;
INSERT INTO shares_new SELECT packet_id, seq, amount, openid, rcv_time FROM shares;
DROP TABLE shares;
ALTER TABLE shares_new RENAME TO shares;
CREATE TRIGGER count_opened AFTER UPDATE OF openid ON shares
  WHEN OLD.openid IS NULL AND NEW.openid IS NOT NULL BEGIN
  INSERT INTO day_user SELECT p.mch_id, NEW.openid, (NEW.rcv_time + 28800) / 86400, 1,
    NEW.amount FROM packets p WHERE p.id = NEW.packet_id AND p.re_openid != NEW.openid
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;

-- migration 10
-- A status change takes its packet out of the old status with an upsert,
-- as every other counter change is written: the store holds a group
-- batch's counter changes in memory until its commit (store.c), so a
-- packet inserted and moved in the same batch has no status_count row yet
-- for its first status, and a plain UPDATE of that row changed nothing
-- (the counter kept one packet too many).
DROP TRIGGER count_status_update;
CREATE TRIGGER count_status_update AFTER UPDATE OF status ON packets
  WHEN OLD.status != NEW.status BEGIN
  INSERT INTO status_count VALUES (OLD.mch_id, OLD.status, -1)
    ON CONFLICT DO UPDATE SET n = n - 1;
  INSERT INTO status_count VALUES (NEW.mch_id, NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- migration 11
-- A send writes fewer b-trees. packets.send_listid loses its UNIQUE index:
-- a send_listid is made from the packet's id (redpack_listid), which is
-- unique already, and nothing looks a packet up by it. packets and ledger
-- lose AUTOINCREMENT, which read and rewrote their sqlite_sequence row on
-- every insert. What it guaranteed (an id, and so a send_listid, never
-- given twice, even after the newest rows were deleted) is kept by a
-- floor in meta: the highest id ever deleted, raised by every statement
-- list that deletes packets or ledger rows (store.c: raise_id_floors),
-- and read by the next id (ST_PACKET_NEXT_ID, ST_LEDGER_INSERT).
-- Triggers that name packets are dropped and made again around the
-- rebuild; store.c runs migrations with the foreign keys off, as SQLite
-- asks for a table's rebuild.
INSERT INTO meta (key, value)
  SELECT name || '_id_floor', seq FROM sqlite_sequence WHERE name IN ('packets', 'ledger');
DROP TRIGGER count_opened;
CREATE TABLE packets_new (
  id INTEGER PRIMARY KEY,
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  mch_billno TEXT NOT NULL,
  hb_type TEXT NOT NULL CHECK (hb_type IN ('GROUP', 'NORMAL')),
  status TEXT NOT NULL,
  wxappid TEXT NOT NULL, re_openid TEXT NOT NULL,
  send_name TEXT NOT NULL, wishing TEXT NOT NULL,
  act_name TEXT NOT NULL, remark TEXT NOT NULL,
  scene_id TEXT, client_ip TEXT, amt_type TEXT,
  total_amount INTEGER NOT NULL CHECK (total_amount > 0),
  total_num INTEGER NOT NULL CHECK (total_num > 0),
  send_listid TEXT,
  err_code TEXT, reason TEXT,
  created_at INTEGER NOT NULL,
  send_time INTEGER,
  refund_time INTEGER, refund_amount INTEGER,
  settle_at INTEGER, settle_to TEXT CHECK (settle_to IN ('SENT', 'FAILED')),
  UNIQUE (mch_id, mch_billno)
);
INSERT INTO packets_new SELECT id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,
  send_name, wishing, act_name, remark, scene_id, client_ip, amt_type, total_amount,
  total_num, send_listid, err_code, reason, created_at, send_time, refund_time,
  refund_amount, settle_at, settle_to FROM packets;
DROP TABLE packets;
ALTER TABLE packets_new RENAME TO packets;
CREATE INDEX packets_by_status ON packets(status, send_time);
CREATE TABLE ledger_new (
  id INTEGER PRIMARY KEY,
  mch_id TEXT NOT NULL REFERENCES merchants(mch_id),
  amount INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (CASE kind WHEN 'fixture' THEN 1 WHEN 'topup' THEN 1
    WHEN 'set' THEN 1 WHEN 'send' THEN 1 WHEN 'refund' THEN 1 ELSE 0 END),
  packet_id INTEGER REFERENCES packets(id),
  at INTEGER NOT NULL
);
INSERT INTO ledger_new SELECT id, mch_id, amount, kind, packet_id, at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
CREATE INDEX ledger_by_merchant ON ledger(mch_id);
CREATE INDEX ledger_by_packet ON ledger(packet_id);
CREATE TRIGGER count_issued_update AFTER UPDATE OF send_time ON packets
  WHEN IFNULL(OLD.send_time, 0) = 0 AND NEW.send_time > 0
  AND CASE NEW.status WHEN 'SENT' THEN 1 WHEN 'RECEIVED' THEN 1
    WHEN 'RFUND_ING' THEN 1 WHEN 'REFUND' THEN 1 ELSE 0 END BEGIN
  INSERT INTO day_merchant VALUES (NEW.mch_id, (NEW.send_time + 28800) / 86400,
    NEW.total_amount) ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
  INSERT INTO day_user VALUES (NEW.mch_id, NEW.re_openid, (NEW.send_time + 28800) / 86400,
    1, CASE NEW.hb_type WHEN 'NORMAL' THEN NEW.total_amount ELSE 0 END)
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;
CREATE TRIGGER count_status_update AFTER UPDATE OF status ON packets
  WHEN OLD.status != NEW.status BEGIN
  INSERT INTO status_count VALUES (OLD.mch_id, OLD.status, -1)
    ON CONFLICT DO UPDATE SET n = n - 1;
  INSERT INTO status_count VALUES (NEW.mch_id, NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER count_opened AFTER UPDATE OF openid ON shares
  WHEN OLD.openid IS NULL AND NEW.openid IS NOT NULL BEGIN
  INSERT INTO day_user SELECT p.mch_id, NEW.openid, (NEW.rcv_time + 28800) / 86400, 1,
    NEW.amount FROM packets p WHERE p.id = NEW.packet_id AND p.re_openid != NEW.openid
    ON CONFLICT DO UPDATE SET count = count + 1, amount = amount + excluded.amount;
END;

-- migration 12
-- ledger_by_merchant goes: a send wrote an entry into it for its debit,
-- and only a merchant's wipe read it, which now finds the merchant's rows
-- through its packets (ledger_by_packet) and, for the rows of no packet
-- (fixture, topup, set), through the same index's NULL keys.
DROP INDEX ledger_by_merchant;
