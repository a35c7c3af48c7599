# A source route (RFC 5321 4.1.2 A-d-l) is accepted and dropped (Appendix C): only the mailbox is kept.
C: EHLO client.example
C: MAIL FROM:<@hop1.example:a@example.org>
C: RCPT TO:<@hop1.example,@hop2.example:b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <a@example.org>\nRecipient: <b@example.com>\n
@absent hop1.example
@absent hop2.example
