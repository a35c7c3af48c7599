# RSET after MAIL and RCPT drops them: the next transaction has only its own sender and recipient.
C: EHLO client.example
C: MAIL FROM:<dropped@example.org> SIZE=5
C: RCPT TO:<dropped@example.com> NOTIFY=NEVER
C: RSET
C: MAIL FROM:<kept@example.org>
C: RCPT TO:<kept@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <kept@example.org>\nRecipient: <kept@example.com>\n\n
@absent dropped
@absent Size:
@absent Notify:
