# One message: EHLO, MAIL, RCPT, DATA with a dot-stuffed line, QUIT.
C: EHLO client.example
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.com>
C: DATA
C: Subject: hi
C:
C: ..leading dot
C: .
C: QUIT
S: 220 mx.test.example ESMTP smtpd
S: 250-mx.test.example
S: 250-SIZE 26214400
S: 250-PIPELINING
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250-DSN
S: 250-CHUNKING
S: 250-BINARYMIME
S: 250-LIMITS RCPTMAX=100 MAILMAX=10000
S: 250 HELP
S: 250 2.1.0 sender OK
S: 250 2.1.5 recipient OK
S: 354 send the message, end with <CRLF>.<CRLF>
S: 250 2.0.0 OK queued as <ID>
S: 221 2.0.0 mx.test.example closing connection
@new 1
@tmp 0
@exit 0
@contains \r\n\r\n.leading dot\r\n
@absent ..leading
@contains Sender: <alice@example.org>\nRecipient: <bob@example.com>\n\nReceived: from client.example\r\n\tby mx.test.example with ESMTP id 
