/* outbox.h - delivering the messages the store's outbox holds.
 *
 * Messages are written to the store (store_outbox_add) in the same step as
 * whatever caused them, and only this module sends them.  A message is
 * marked sent only after the SMTP server has accepted it; a failure counts
 * an attempt and schedules the next one with exponential backoff, until
 * mail.attempts is reached or the server refuses it for good (5xx): then it
 * is marked failed and kept.  Nothing is ever deleted.
 *
 * Delivery is at least once: if the process dies after the server accepted
 * a message but before the store recorded it as sent, the message is still
 * pending and is sent again on the next start.  Only one process should
 * deliver from a database at a time (the server, or `mizan eval --alerts`
 * when no server runs), or a message may be sent by both.
 */
#ifndef MIZAN_OUTBOX_H
#define MIZAN_OUTBOX_H

#include <stdint.h>

#include "model/config.h"
#include "store/store.h"

struct outbox;

/* Starts the delivery thread: a pass every mail.poll_s seconds and when
 * poked.  With an empty mail.smtp_url (or settings that cannot deliver) it
 * logs that once and sends nothing; messages stay pending.  c and s must
 * outlive the outbox.  0, with *out the caller's (freed by outbox_stop), or
 * a negative errno (logged) when the thread cannot start (*out is then
 * NULL).  mail_init() must have been called. */
int outbox_start(struct outbox **out, const struct config *c, struct store *s);
/* New messages were written: deliver them now rather than at the next poll.
 * Any thread; NULL is a no-op. */
void outbox_poke(struct outbox *o);
/* Stops the thread (abandoning a transfer in progress, which leaves that
 * message pending, its attempt not counted) and frees the outbox.  NULL is
 * fine.  Not from the outbox's own thread; no outbox_poke may run at the
 * same time or after. */
void outbox_stop(struct outbox *o);

/* One pass: delivers every message due at now_ms.  Returns how many were
 * sent, or the store's negative errno when it could not be read before
 * anything was sent (logged).  With settings that cannot deliver it logs
 * once and returns 0.  Blocks while it delivers; c and s are borrowed for
 * the call.  Any thread, but only one delivery at a time per database (see
 * above). */
int outbox_deliver_due(const struct config *c, struct store *s, int64_t now_ms);

/* The delay before the next attempt after `attempts` failed ones
 * (attempts >= 1), in milliseconds, without jitter:
 * min(backoff_s * 2^(attempts-1), backoff_max_s) * 1000.  Pure. */
int64_t outbox_backoff_ms(const struct config *c, int attempts);

#endif
