/* A bad handler: spins forever (stopped by fuel or the deadline). */
int main(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}
