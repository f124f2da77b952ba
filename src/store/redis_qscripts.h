#ifndef STATUSD_STORE_REDIS_QSCRIPTS_H
#define STATUSD_STORE_REDIS_QSCRIPTS_H

/*
 * The pieces of the queue scripts (redis_qscripts.c), private to
 * redis_scripts.c, which joins them after the record helpers: rd_lib_q
 * (the queue's keys and clock), rd_lib_qrec (record changes and replies,
 * after lib_upd), and one body per queue operation.
 */

extern const char rd_lib_q[];
extern const char rd_lib_qrec[];
extern const char rd_body_qpush[];
extern const char rd_body_qtake[];
extern const char rd_body_qrenew[];
extern const char rd_body_qack[];
extern const char rd_body_qrelease[];
extern const char rd_body_qremove[];
extern const char rd_body_qreap[];
extern const char rd_body_qstats[];

#endif
