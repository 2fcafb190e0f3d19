"""The local stack: GoFlow on one machine, AWS from moto, Lambda and API Gateway emulated in-process."""
