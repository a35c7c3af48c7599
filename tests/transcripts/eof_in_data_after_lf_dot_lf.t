# EOF right after "\n.\n" in DATA: that is not an end of data, so nothing is queued; exit 1.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C~ Subject: x\r\n\r\nbody\n.\n
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
@new 0
@tmp 0
@exit 1
