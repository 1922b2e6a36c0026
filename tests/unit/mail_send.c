/* mail_send.c - a driver for tests/integration/test_mail.py (not a test itself).
 *
 *   mail-send --db PATH [--config FILE] [--to ADDR --subject TEXT --lang ar|en [--image]]
 *             [--deliver] [--now MS] [--loop SECONDS]
 *
 * --to formats a message with mail_format (an Arabic one has dir="rtl" in its
 * HTML) and adds it to the store's outbox.  --deliver runs one
 * outbox_deliver_due at --now (default: the clock) and prints "sent N".
 * --loop runs the outbox thread for that many seconds (poked once).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config.h"
#include "notify/mail.h"
#include "notify/outbox.h"
#include "store/store.h"
#include "util/time.h"

int main(int argc, char **argv)
{
	enum { O_DB = 1, O_CONFIG, O_TO, O_SUBJECT, O_LANG, O_IMAGE, O_DELIVER, O_NOW, O_LOOP };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, O_DB},     {"config", required_argument, NULL, O_CONFIG},
		{"to", required_argument, NULL, O_TO},     {"subject", required_argument, NULL, O_SUBJECT},
		{"lang", required_argument, NULL, O_LANG}, {"image", no_argument, NULL, O_IMAGE},
		{"deliver", no_argument, NULL, O_DELIVER}, {"now", required_argument, NULL, O_NOW},
		{"loop", required_argument, NULL, O_LOOP}, {0}};
	const char *db = NULL, *cfgpath = NULL, *to = NULL, *subject = "Mizan", *lang = "en";
	int image = 0, deliver = 0, loop = 0;
	int64_t now = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_DB: db = optarg; break;
		case O_CONFIG: cfgpath = optarg; break;
		case O_TO: to = optarg; break;
		case O_SUBJECT: subject = optarg; break;
		case O_LANG: lang = optarg; break;
		case O_IMAGE: image = 1; break;
		case O_DELIVER: deliver = 1; break;
		case O_NOW: now = strtoll(optarg, NULL, 10); break;
		case O_LOOP: loop = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: mail-send --db PATH [--config FILE] [--to ADDR "
					"--subject TEXT --lang ar|en [--image]] [--deliver] [--now MS] "
					"[--loop S]\n");
			return 2;
		}
	}
	if (!db) {
		fprintf(stderr, "mail-send: --db is required\n");
		return 2;
	}
	if (mail_init() < 0) {
		fprintf(stderr, "mail-send: mail_init failed\n");
		return 1;
	}

	struct config c;
	char err[STORE_ERRLEN > 512 ? STORE_ERRLEN : 512];
	if (config_load(&c, cfgpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "mail-send: %s\n", err);
		return 1;
	}
	struct store_opts so = {.cache_mib = 4, .busy_timeout_ms = 5000};
	struct store *s = NULL;
	int code = 1;
	if (store_open(&s, db, &so, err) < 0) {
		fprintf(stderr, "mail-send: %s: %s\n", db, err);
		config_free(&c);
		return 1;
	}

	if (to) {
		int ar = strcmp(lang, "ar") == 0;
		char html[1024];
		snprintf(html, sizeof(html),
			 "<!DOCTYPE html><html%s><body><p>%s</p>%s</body></html>",
			 ar ? " dir=\"rtl\" lang=\"ar\"" : " lang=\"en\"",
			 ar ? "انخفض مستوى رضا المغتربين إلى ٦٢٪." : "Expatriate satisfaction fell to 62%.",
			 image ? "<img src=\"cid:chart@mizan\" alt=\"\">" : "");
		static const unsigned char png[] = "\x89PNG\r\n\x1a\n-not-really-a-png-";
		struct mail_part_image img = {"chart@mizan", png, sizeof(png) - 1};
		struct mail_message m = {
			.from_addr = c.mail_from,
			.from_name = c.mail_from_name,
			.to_addr = to,
			.to_name = ar ? "مالك المؤشر" : "KPI owner",
			.subject = subject,
			.text = ar ? "انخفض مستوى رضا المغتربين إلى ٦٢٪.\nالهدف: ٨٠٪."
				   : "Expatriate satisfaction fell to 62%.\nTarget: 80%.",
			.html = html,
			.image = image ? &img : NULL,
			.message_id_domain = "mizan.localhost",
			.date_ms = time_now_ms(),
		};
		size_t len;
		char *msg = mail_format(&m, &len);
		if (!msg) {
			fprintf(stderr, "mail-send: mail_format refused the message\n");
			goto out;
		}
		struct store_mail row = {.to_addr = to, .subject = subject, .message = msg, .len = len};
		int rc = store_outbox_add(s, &row, 0, err);
		free(msg);
		if (rc < 0) {
			fprintf(stderr, "mail-send: %s\n", err);
			goto out;
		}
		printf("added\n");
	}
	if (deliver) {
		int n = outbox_deliver_due(&c, s, now ? now : time_now_ms());
		printf("sent %d\n", n);
		if (n < 0)
			goto out;
	}
	if (loop > 0) {
		struct outbox *o;
		if (outbox_start(&o, &c, s) < 0)
			goto out;
		outbox_poke(o);
		sleep((unsigned)loop);
		outbox_stop(o);
		printf("looped\n");
	}
	code = 0;
out:
	fflush(stdout);
	store_close(s);
	config_free(&c);
	mail_cleanup();
	return code;
}
