module waggle.test/rollbargo

go 1.26

require github.com/rollbar/rollbar-go v1.4.5
