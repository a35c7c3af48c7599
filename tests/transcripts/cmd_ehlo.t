# EHLO: greeting and the multi-line 250 list of extensions, none with an enhanced code (RFC 2034).
C: EHLO client.example
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
S: 221 2.0.0 mx.test.example closing connection
@new 0
@exit 0
