# A Received: header sent as a command (client out of step, or an attack): 421 4.7.0 and close; nothing spooled.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: Received: from evil.example by victim.example
C: DATA
C: hi
C: .
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 421 4.7.0 *
@new 0
@exit 1
