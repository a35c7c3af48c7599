# Quoted local parts (with a space, an escaped quote) are valid and kept as sent.
C: EHLO client.example
C: MAIL FROM:<"john doe"@example.org>
C: RCPT TO:<"a\"b"@example.com>
C: RCPT TO:<"x@y"@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <"john doe"@example.org>\n
@contains Recipient: <"a\"b"@example.com>\n
@contains Recipient: <"x@y"@example.com>\n
