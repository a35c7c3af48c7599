# Any first word ending in ':' (a header line such as Subject:) is not SMTP: 421 4.7.0 and close.
C: HELO client.example
C: Subject: hello
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250 mx.test.example
S: 421 4.7.0 *
@exit 1
