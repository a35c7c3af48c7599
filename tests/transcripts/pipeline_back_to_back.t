# Two messages back to back without RSET; each transaction starts clean (no recipient carried over).
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<first@example.com>
C: DATA
C: one
C: .
C: MAIL FROM:<a@example.org>
C: RCPT TO:<second@example.com>
C: DATA
C: two
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@exit 0
@contains Recipient: <second@example.com>\n\n
@contains for <second@example.com>; 
