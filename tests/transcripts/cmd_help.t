# HELP, with or without a topic: 214 2.0.0.
C: HELP
C: EHLO client.example
C: HELP
C: HELP MAIL
C: QUIT
S: 220 mx.test.example ESMTP*
S: 214 2.0.0 *
S: EHLO-REPLY
S: 214 2.0.0 *
S: 214 2.0.0 *
S: 221 2.0.0 *
@exit 0
