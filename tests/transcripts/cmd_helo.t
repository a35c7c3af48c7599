# HELO: plain 250 with our name and no enhanced code (RFC 2034); the message is spooled as SMTP, not ESMTP.
C: HELO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250 mx.test.example
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@tmp 0
@exit 0
@contains Helo: client.example\nProtocol: SMTP\n
@contains by mx.test.example with SMTP id 
