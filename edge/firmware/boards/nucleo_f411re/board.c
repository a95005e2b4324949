/* board.c: NUCLEO-F411RE (STM32F411RE, Cortex-M4F, 512 KB flash, 128 KB SRAM).
 *
 * Clocks: the 16 MHz HSI -> PLL (M 16, N 400, P 4) = 100 MHz SYSCLK at voltage scale 1 with
 * 3 flash wait states, prefetch and both ART caches; AHB 100 MHz, APB1 50 MHz (its maximum),
 * APB2 100 MHz. The HSI needs no crystal, so every NUCLEO-F411RE gets the same clocks; when the
 * PLL does not lock the board stays on the HSI and the baud rates follow.
 * Host link: USART2, PA2 TX / PA3 RX (AF7), wired to the ST-LINK virtual COM port, 115200 8N1;
 * received bytes go through the RXNE interrupt into a ring buffer, so nothing is lost while the
 * model runs. DIN MIDI: USART1, PA9 TX (AF7, Arduino D8), 31250 8N1, through the usual
 * 220-ohm/5-pin DIN circuit. Cycles: DWT->CYCCNT at the CPU clock.
 */
#include "board.h"
#include "cortexm.h"
#include "board_stm32.h"

#define RCC_BASE 0x40023800u
#define RCC_CR FE_REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR FE_REG32(RCC_BASE + 0x04u)
#define RCC_CFGR FE_REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR FE_REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR FE_REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR FE_REG32(RCC_BASE + 0x44u)
#define PWR_CR FE_REG32(0x40007000u)
#define FLASH_ACR FE_REG32(0x40023C00u)


/* STM32F4 USART (the F7's register map differs: ISR/RDR/TDR there, SR/DR here). */
#define USART2_BASE 0x40004400u
#define USART1_BASE 0x40011000u
#define USART_SR(b) FE_REG32((b) + 0x00u)
#define USART_DR(b) FE_REG32((b) + 0x04u)
#define USART_BRR(b) FE_REG32((b) + 0x08u)
#define USART_CR1(b) FE_REG32((b) + 0x0Cu)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)

#define NVIC_ISER1 FE_REG32(0xE000E104u)
#define USART2_IRQN 38u
#define N_IRQS 86u

#define HSI_HZ 16000000u
#define PLL_HZ 100000000u
#define HOST_BAUD 115200u
#define DIN_BAUD 31250u

const char board_name[] = "nucleo-f411re";
const uint8_t board_counts_instructions = 0u;
const uint32_t board_tick_hz = PLL_HZ;

static uint32_t cpu_hz = HSI_HZ;

void USART2_IRQHandler(void);

typedef void (*fe_vector_t)(void);

static void irq_dispatch(void);

/* Every external interrupt enters irq_dispatch, which reads the active number from IPSR. */
#define V2 irq_dispatch, irq_dispatch
#define V8 V2, V2, V2, V2
#define V32 V8, V8, V8, V8
__attribute__((section(".vectors_irq"), used)) const fe_vector_t fe_irq_vectors[N_IRQS] = {
    V32, V32, V8, V8, V2, V2, V2,
};

static void irq_dispatch(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    if (ipsr == 16u + USART2_IRQN) {
        USART2_IRQHandler();
    }
}

/* 100 MHz from the 16 MHz HSI; returns the resulting SYSCLK. */
static uint32_t clock_init(void)
{
    RCC_APB1ENR |= 1u << 28; /* PWR */
    PWR_CR |= 3u << 14;      /* voltage scale 1 */
    /* PLLM 16 (1 MHz in), PLLN 400 (400 MHz VCO), PLLP /4 (code 1), PLLSRC HSI, PLLQ 8 */
    RCC_PLLCFGR = 16u | (400u << 6) | (1u << 16) | (0u << 22) | (8u << 24);
    RCC_CR |= 1u << 24; /* PLLON */
    if (!stm32_wait(&RCC_CR, 1u << 25, 1u << 25)) {
        return HSI_HZ;
    }
    FLASH_ACR = 3u | (1u << 8) | (1u << 9) | (1u << 10); /* 3 wait states, prefetch, I/D cache */
    RCC_CFGR = (RCC_CFGR & ~0xFCF0u) | (4u << 10);       /* AHB /1, APB1 /2, APB2 /1 */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;                    /* SYSCLK = PLL */
    if (!stm32_wait(&RCC_CFGR, 3u << 2, 2u << 2)) {
        return HSI_HZ;
    }
    return PLL_HZ;
}

static void usart_init(uint32_t base, uint32_t pclk, uint32_t baud, uint32_t extra)
{
    USART_CR1(base) = 0u;
    USART_BRR(base) = (pclk + baud / 2u) / baud; /* oversampling by 16: 12.4 fixed point */
    USART_CR1(base) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | extra;
}

void board_init(void)
{
    SCB_VTOR = 0x08000000u;
    cpu_hz = clock_init();
    uint32_t apb1 = cpu_hz == PLL_HZ ? cpu_hz / 2u : cpu_hz;
    RCC_AHB1ENR |= 1u << 0;  /* GPIOA */
    RCC_APB1ENR |= 1u << 17; /* USART2 */
    RCC_APB2ENR |= 1u << 4;  /* USART1 */
    stm32_pin_af(STM32_GPIOA_BASE, 2u, 7u);
    stm32_pin_af(STM32_GPIOA_BASE, 3u, 7u);
    stm32_pin_af(STM32_GPIOA_BASE, 9u, 7u);
    usart_init(USART2_BASE, apb1, HOST_BAUD, USART_CR1_RXNEIE);
    usart_init(USART1_BASE, cpu_hz, DIN_BAUD, 0u);
    stm32_cycles_start();
    NVIC_ISER1 = 1u << (USART2_IRQN - 32u);
    fe_enable_irq();
}

void USART2_IRQHandler(void)
{
    /* RXNE and ORE both clear by reading SR, then DR */
    while (USART_SR(USART2_BASE) & (USART_SR_RXNE | USART_SR_ORE)) {
        uint8_t b = (uint8_t)USART_DR(USART2_BASE);
        stm32_rx_push(b);
    }
}

static void usart_write(uint32_t base, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while ((USART_SR(base) & USART_SR_TXE) == 0u) {
        }
        USART_DR(base) = data[i];
    }
}

void board_host_write(const uint8_t *data, size_t n)
{
    usart_write(USART2_BASE, data, n);
}

void board_din_write(const uint8_t *data, size_t n)
{
    usart_write(USART1_BASE, data, n);
}
