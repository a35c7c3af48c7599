# A command ending in a bare LF is not executed (not even QUIT or MAIL): 500 5.5.2; the session goes on.
C: EHLO client.example
C~ NOOP\n
C~ QUIT\n
C~ MAIL FROM:<a@example.org>\n
C: RCPT TO:<b@example.com>
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.2 *
S: 500 5.5.2 *
S: 500 5.5.2 *
S: 503 5.5.1 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 0
@exit 0
