# Errors add up over the whole session, successes in between do not reset the count (--max-errors 4).
@args --max-errors 4
C: EHLO client.example
C: XYZZY
C: MAIL FROM:<a@example.org>
C: RCPT TO:<>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: XYZZY
C: NOOP
C: XYZZY
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.1 *
S: 250 2.1.0 *
S: 501 5.1.3 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 500 5.5.1 *
S: 250 2.0.0 *
S: 500 5.5.1 *
S: 421 4.7.0 *
@new 1
@exit 1
