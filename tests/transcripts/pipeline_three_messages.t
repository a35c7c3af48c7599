# Three messages in one pipelined session, with RSET between: each queued with its own envelope, replies in order.
C: EHLO client.example
C: MAIL FROM:<one@example.org>
C: RCPT TO:<r1@example.com>
C: DATA
C: Subject: first
C:
C: 1
C: .
C: RSET
C: MAIL FROM:<two@example.org>
C: RCPT TO:<r2@example.com>
C: RCPT TO:<r2b@example.com>
C: DATA
C: Subject: second
C:
C: 2
C: .
C: RSET
C: MAIL FROM:<>
C: RCPT TO:<r3@example.com>
C: DATA
C: Subject: third
C:
C: 3
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 OK queued as <ID>
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 OK queued as <ID>
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 OK queued as <ID>
S: 221 2.0.0 *
@new 3
@tmp 0
@exit 0
@contains Sender: <one@example.org>\nRecipient: <r1@example.com>\n\n
@contains Sender: <two@example.org>\nRecipient: <r2@example.com>\nRecipient: <r2b@example.com>\n\n
@contains Sender: <>\nRecipient: <r3@example.com>\n\n
@contains Subject: second\r\n\r\n2\r\n
