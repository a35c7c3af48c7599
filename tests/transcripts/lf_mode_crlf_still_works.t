# --lf also takes normal CRLF lines and CRLF.CRLF, and mixed endings; stored with CRLF.
@args --lf
C: EHLO client.example
C~ MAIL FROM:<a@example.org>\n
C: RCPT TO:<b@example.com>
C: DATA
C: crlf line
C~ lf line\n
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
@contains \r\ncrlf line\r\nlf line\r\n
