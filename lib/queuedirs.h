/*
 * queuedirs.h - the queue directory layout: the names of QUEUE's
 * subdirectories, spelled once for both programs.  smtpd writes a
 * message into tmp/ and renames it into new/; smtpd-queue owns the rest
 * (smtpd-spool(5), smtpd-queue(1)).  String literals, so that they
 * paste into other literals ("/" QUEUEDIR_NEW).
 */
#ifndef QUEUEDIRS_H
#define QUEUEDIRS_H

#define QUEUEDIR_TMP	"tmp"		/* smtpd: files being written */
#define QUEUEDIR_NEW	"new"		/* smtpd: complete, not yet claimed */
#define QUEUEDIR_CLAIM	"claim"		/* being delivered, locked */
#define QUEUEDIR_FAILED	"failed"	/* delivery failed for good */
#define QUEUEDIR_CORRUPT "corrupt"	/* not a readable queue file */
#define QUEUEDIR_STATE	"state"		/* delivery records, by id */
#define QUEUEDIR_HOLD	"hold"		/* held: not delivered until released */

#endif
