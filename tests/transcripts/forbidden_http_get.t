# An HTTP request instead of SMTP: 421 4.7.0 and the session ends at once (exit 1).
C: GET / HTTP/1.1
C: Host: mx.test.example
C:
S: 220 mx.test.example ESMTP*
S: 421 4.7.0 *
@new 0
@exit 1
