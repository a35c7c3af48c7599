# --max-errors 3: any kind of error reply counts (555, 503, 501); the 3rd is followed by 421 4.7.0.
@args --max-errors 3
C: HELO client.example
C: MAIL FROM:<a@example.org> SIZE=1
C: RCPT TO:<b@example.com>
C: VRFY
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250 mx.test.example
S: 555 5.5.4 *
S: 503 5.5.1 *
S: 501 5.5.4 *
S: 421 4.7.0 *
@new 0
@exit 1
