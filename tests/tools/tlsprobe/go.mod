module tlsprobe

go 1.26.0
