# SIZE= (RFC 1870): kept in the envelope; over the limit 552 5.3.4; malformed 501 5.5.4.
C: EHLO client.example
C: MAIL FROM:<a@example.org> SIZE=26214401
C: MAIL FROM:<a@example.org> SIZE=abc
C: MAIL FROM:<a@example.org> SIZE=
C: MAIL FROM:<a@example.org> SIZE
C: MAIL FROM:<a@example.org> SIZE=-1
C: MAIL FROM:<a@example.org> SIZE=100
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: MAIL FROM:<a@example.org> SIZE=26214400
C: RSET
C: MAIL FROM:<a@example.org> SIZE=0
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 552 5.3.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <a@example.org>\nSize: 100\nRecipient: <b@example.com>\n
