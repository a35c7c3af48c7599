# RSET: 250 2.0.0, forgets sender and recipients (RCPT then 503); RSET with an argument is 501.
C: EHLO client.example
C: RSET
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RSET now
C: RSET
C: RCPT TO:<b@example.com>
C: DATA
C: MAIL FROM:<a@example.org>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 501 5.5.4 *
S: 250 2.0.0 *
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 250 2.1.0 *
S: 221 2.0.0 *
@new 0
@exit 0
