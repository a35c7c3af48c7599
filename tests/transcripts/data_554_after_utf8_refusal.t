# DATA after the only recipient was refused (553 5.6.7, no SMTPUTF8): recipients were tried and all refused, so 554, not 503.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<jörg@example.com>
C: DATA
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 553 5.6.7 *
S: 554 5.*
S: 221 2.0.0 *
@new 0
@exit 0
