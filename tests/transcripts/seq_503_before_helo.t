# Before HELO/EHLO: MAIL, RCPT and DATA are 503 5.5.1; NOOP, RSET, VRFY, HELP work.
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: NOOP
C: RSET
C: VRFY bob
C: HELP
C: MAIL FROM:<a@example.org>
C: HELO client.example
C: MAIL FROM:<a@example.org>
C: QUIT
S: 220 mx.test.example ESMTP*
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 250 2.0.0 *
S: 250 2.0.0 *
S: 252 2.*
S: 214 2.0.0 *
S: 503 5.5.1 *
S: 250 mx.test.example
S: 250 2.1.0 *
S: 221 2.0.0 *
@new 0
@exit 0
